<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" labelsEnabled="1">
 <renderer-v2 type="categorizedSymbol" attr="road_class" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="motorway" label="motorway" symbol="0" render="true" />
   <category value="trunk" label="trunk" symbol="1" render="true" />
   <category value="primary" label="primary" symbol="2" render="true" />
   <category value="secondary" label="secondary" symbol="3" render="true" />
   <category value="tertiary" label="tertiary" symbol="4" render="true" />
   <category value="residential" label="residential" symbol="5" render="true" />
   <category value="service" label="service" symbol="6" render="true" />
  </categories>
  <symbols>
   <symbol type="line" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="232,70,124,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="240,127,60,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="244,167,59,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="230,200,79,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="155,155,155,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="5" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="189,189,189,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="6" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="217,217,217,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol type="line" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="107,107,107,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
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
   <placement placement="3" dist="1" distUnits="MM" placementFlags="10" />
   <rendering scaleVisibility="1" scaleMin="0" scaleMax="8531" obstacle="1" drawLabels="1" />
  </settings>
 </labeling>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>1</layerGeometryType>
</qgis>
