<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" labelsEnabled="0">
 <renderer-v2 type="categorizedSymbol" attr="category" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="prohibitory" label="prohibitory" symbol="0" render="true" />
   <category value="warning" label="warning" symbol="1" render="true" />
   <category value="mandatory" label="mandatory" symbol="2" render="true" />
   <category value="information" label="information" symbol="3" render="true" />
   <category value="auxiliary" label="auxiliary" symbol="4" render="true" />
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="214,39,40,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.59" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,191,0,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.59" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="31,119,180,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.59" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="44,160,44,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.59" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="127,127,127,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.59" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="214,39,40,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.59" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
  </source-symbol>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>0</layerGeometryType>
</qgis>
