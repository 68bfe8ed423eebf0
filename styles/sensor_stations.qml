<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" labelsEnabled="1">
 <renderer-v2 type="categorizedSymbol" attr="kind" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="air" label="air" symbol="0" render="true" />
   <category value="water_level" label="water level" symbol="1" render="true" />
   <category value="rain" label="rain" symbol="2" render="true" />
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,127,14,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="2.65" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="31,119,180,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="2.65" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="23,190,207,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="2.65" type="QString" />
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
      <Option name="color" value="255,127,14,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="2.65" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
  </source-symbol>
 </renderer-v2>
 <labeling type="simple">
  <settings calloutType="simple">
   <text-style fieldName="name" isExpression="0" fontFamily="DejaVu Sans" fontSize="8" fontSizeUnit="Point" textColor="34,34,34,255" textOpacity="1">
    <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8" />
   </text-style>
   <placement placement="0" dist="1" distUnits="MM" placementFlags="10" />
   <rendering scaleVisibility="1" scaleMin="0" scaleMax="34124" obstacle="1" drawLabels="1" />
  </settings>
 </labeling>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>0</layerGeometryType>
</qgis>
